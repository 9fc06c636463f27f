# A small GAN learning a 1-D Gaussian, in the style of the DCGAN example's training loop.
import json

import torch
import torch.nn as nn

torch.manual_seed(3)
latent = 8
netG = nn.Sequential(nn.Linear(latent, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))
netD = nn.Sequential(nn.Linear(1, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))


def weights_init(m):
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight.data, 0.0, 0.3)
        nn.init.constant_(m.bias.data, 0)


netG.apply(weights_init)
netD.apply(weights_init)
criterion = nn.BCEWithLogitsLoss()
optD = torch.optim.Adam(netD.parameters(), lr=2e-3, betas=(0.5, 0.999))
optG = torch.optim.Adam(netG.parameters(), lr=2e-3, betas=(0.5, 0.999))
real_label, fake_label = 1.0, 0.0
gaps = []
for it in range(400):
    real = 4.0 + 1.25 * torch.randn(64, 1)
    netD.zero_grad()
    label = torch.full((64, 1), real_label)
    errD_real = criterion(netD(real), label)
    errD_real.backward()
    fake = netG(torch.randn(64, latent))
    label.fill_(fake_label)
    errD_fake = criterion(netD(fake.detach()), label)
    errD_fake.backward()
    optD.step()
    netG.zero_grad()
    label.fill_(real_label)
    errG = criterion(netD(fake), label)
    errG.backward()
    optG.step()
    gaps.append(abs(fake.mean().item() - 4.0))
with torch.no_grad():
    sample = netG(torch.randn(2000, latent))
print("RESULT " + json.dumps({"first": sum(gaps[:20]) / 20, "last": sum(gaps[-50:]) / 50,
                              "mean": sample.mean().item(), "std": sample.std().item(),
                              "shape": list(sample.shape)}))
