# A two-layer graph convolutional network (Kipf & Welling) on a synthetic two-community
# graph, with the normalised adjacency as a sparse COO matrix, as pygcn writes it.
import json

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(5)
n, per = 60, 30
labels = torch.cat([torch.zeros(per), torch.ones(per)]).long()
same = labels.unsqueeze(0) == labels.unsqueeze(1)
p = torch.where(same, torch.full((n, n), 0.25), torch.full((n, n), 0.02))
adj = (torch.rand(n, n) < p).float()
adj = ((adj + adj.t()) > 0).float() + torch.eye(n)
deg = adj.sum(1)
d_inv_sqrt = deg.pow(-0.5)
norm = d_inv_sqrt.unsqueeze(1) * adj * d_inv_sqrt.unsqueeze(0)
idx = norm.nonzero().t()
sp_adj = torch.sparse_coo_tensor(idx, norm[idx[0], idx[1]], (n, n)).coalesce()
features = torch.randn(n, 8) + labels.unsqueeze(1).float()


class GraphConvolution(nn.Module):
    def __init__(self, in_features, out_features):
        super(GraphConvolution, self).__init__()
        self.weight = nn.Parameter(torch.FloatTensor(in_features, out_features))
        self.bias = nn.Parameter(torch.FloatTensor(out_features))
        stdv = 1.0 / self.weight.size(1) ** 0.5
        self.weight.data.uniform_(-stdv, stdv)
        self.bias.data.uniform_(-stdv, stdv)

    def forward(self, input, adj):
        support = torch.mm(input, self.weight)
        return torch.spmm(adj, support) + self.bias


class GCN(nn.Module):
    def __init__(self):
        super(GCN, self).__init__()
        self.gc1 = GraphConvolution(8, 16)
        self.gc2 = GraphConvolution(16, 2)

    def forward(self, x, adj):
        x = F.dropout(F.relu(self.gc1(x, adj)), 0.2, training=self.training)
        return F.log_softmax(torch.sparse.mm(adj, torch.mm(x, self.gc2.weight))
                             + self.gc2.bias, dim=1)


model = GCN()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
train = torch.arange(0, n, 2)
losses = []
for epoch in range(100):
    model.train()
    optimizer.zero_grad()
    output = model(features, sp_adj)
    loss = F.nll_loss(output[train], labels[train])
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
model.eval()
acc = (model(features, sp_adj).argmax(1) == labels).float().mean().item()
print("RESULT " + json.dumps({"first": losses[0], "last": losses[-1], "accuracy": acc,
                              "nnz": sp_adj._nnz() > n, "coalesced": sp_adj.is_coalesced()}))
