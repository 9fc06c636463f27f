# Pre-1.0 habits still common in published code: Variable, typed tensor constructors,
# .type() conversions, size= keywords, range indexing, .data updates by hand.
import json

import torch
from torch.autograd import Variable

torch.manual_seed(1)
n, d = 200, 5
X = torch.FloatTensor(n, d).normal_()
true_w = torch.Tensor([[1.5], [-2.0], [0.5], [0.0], [3.0]])
Y = X.mm(true_w) + 0.1 * torch.randn(size=(n, 1))
labels = (Y > 0).type(torch.LongTensor).view(-1)
assert isinstance(X, torch.FloatTensor) and not isinstance(X, torch.LongTensor)
assert isinstance(labels, torch.LongTensor)

w = Variable(torch.zeros(d, 1), requires_grad=True)
b = Variable(torch.zeros(1), requires_grad=True)
lr = 0.05
losses = []
for step in range(60):
    idx = range(step % 4 * 50, step % 4 * 50 + 50)
    xb, yb = Variable(X[idx]), Variable(Y[idx])
    pred = xb.mm(w) + b
    loss = ((pred - yb) ** 2).mean()
    loss.backward()
    w.data -= lr * w.grad.data
    b.data -= lr * b.grad.data
    w.grad.data.zero_()
    b.grad.data.zero_()
    losses.append(loss.data.item())

zeros = torch.zeros(size=(2, 3), dtype=torch.float64)
print("RESULT " + json.dumps({
    "first": losses[0], "last": losses[-1], "w_err": (w.data - true_w).abs().max().item(),
    "types": [X.type(), labels.type(), zeros.type(), X.double().type()],
    "double_of_long": torch.LongTensor([1, 2]).type(torch.DoubleTensor).type(),
    "shape": list(torch.Tensor(3, 4).shape), "empty": list(torch.Tensor().shape),
    "picked": X[range(0, 6, 2), :2].shape[0],
}))
