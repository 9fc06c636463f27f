# A variational autoencoder as in the VAE example: reparameterisation and the KL term.
import json

import torch
import torch.nn.functional as F
from torch import nn, optim

torch.manual_seed(4)
protos = torch.rand(4, 20)
data = (protos[torch.randint(0, 4, (512,))] + 0.05 * torch.randn(512, 20)).clamp(0, 1)


class VAE(nn.Module):
    def __init__(self):
        super(VAE, self).__init__()
        self.fc1 = nn.Linear(20, 32)
        self.fc21 = nn.Linear(32, 2)
        self.fc22 = nn.Linear(32, 2)
        self.fc3 = nn.Linear(2, 32)
        self.fc4 = nn.Linear(32, 20)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 20))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 20), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


model = VAE()
optimizer = optim.Adam(model.parameters(), lr=1e-2)
losses = []
for epoch in range(15):
    train_loss = 0.0
    for batch in data.split(64):
        optimizer.zero_grad()
        recon, mu, logvar = model(batch)
        loss = loss_function(recon, batch, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
    losses.append(train_loss / len(data))
with torch.no_grad():
    sample = model.decode(torch.randn(16, 2))
print("RESULT " + json.dumps({"first": losses[0], "last": losses[-1],
                              "sample_shape": list(sample.shape),
                              "in_range": bool(((sample >= 0) & (sample <= 1)).all())}))
