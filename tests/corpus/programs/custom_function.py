# Custom autograd Functions as tutorials write them: a hand-written ReLU, a straight-through
# estimator for rounding, checked with gradcheck, trained in a small network.
import json

import torch
import torch.nn as nn


class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


class RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return torch.round(x * scale) / scale

    @staticmethod
    def backward(ctx, g):
        return g, None


ok = torch.autograd.gradcheck(MyReLU.apply, (torch.randn(6, dtype=torch.double,
                                                          requires_grad=True) + 0.5,))
torch.manual_seed(2)
x = torch.linspace(-3, 3, 128).unsqueeze(1)
y = torch.sin(x)
l1, l2 = nn.Linear(1, 32), nn.Linear(32, 1)
opt = torch.optim.SGD(list(l1.parameters()) + list(l2.parameters()), lr=0.1, momentum=0.9)
losses = []
for _ in range(300):
    h = MyReLU.apply(l1(x))
    out = l2(RoundSTE.apply(h, 64.0))
    loss = nn.functional.mse_loss(out, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())
print("RESULT " + json.dumps({"first": losses[0], "last": losses[-1], "gradcheck": bool(ok),
                              "grad_fn": type(MyReLU.apply(x.requires_grad_()).grad_fn).__name__}))
