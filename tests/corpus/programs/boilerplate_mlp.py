# Device-agnostic boilerplate as in the official examples (their --no-accel flag included),
# then an MLP on synthetic data.
import argparse
import json

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser(description="MLP example")
parser.add_argument("--no-accel", action="store_true", help="disables accelerator")
args = parser.parse_args()
use_accel = not args.no_accel and torch.accelerator.is_available()

torch.manual_seed(0)
torch.backends.cudnn.benchmark = True
torch.backends.cudnn.deterministic = True
if use_accel:
    device = torch.accelerator.current_accelerator()
elif not args.no_accel and torch.cuda.is_available():
    device = torch.device("cuda")
elif not args.no_accel and torch.backends.mps.is_available():
    device = torch.device("mps")
else:
    device = torch.device("cpu")
use_cuda = torch.cuda.is_available()
kwargs = {"num_workers": 1, "pin_memory": True} if use_cuda else {}

x = torch.randn(512, 20)
w = torch.randn(20, 3)
y = (x @ w).argmax(dim=1)
loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, **kwargs)


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(20, 64)
        self.fc2 = nn.Linear(64, 3)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = self.dropout(x)
        return F.log_softmax(self.fc2(x), dim=1)


model = Net().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.7)
losses = []
for epoch in range(1, 6):
    model.train()
    total = 0.0
    for data, target in loader:
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(data)
    scheduler.step()
    losses.append(total / len(loader.dataset))
model.eval()
with torch.no_grad():
    correct = (model(x.to(device)).argmax(dim=1, keepdim=True)
               .eq(y.to(device).view_as(model(x.to(device)).argmax(dim=1, keepdim=True)))
               .sum().item())
print("RESULT " + json.dumps({"first": losses[0], "last": losses[-1],
                              "accuracy": correct / len(x), "device": str(device.type),
                              "out_shape": list(model(x[:5].to(device)).shape)}))
