"""A first look at mbtorch: PyTorch code, unchanged, on the NumPy-backed cpu device.

Run: .venv/bin/python examples/quickstart.py
"""

import mbtorch as torch


def main() -> None:
    torch.manual_seed(0)  # every random op below is reproducible, on every device

    # creation and PyTorch's type promotion
    x = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    ints = torch.tensor([1, 2, 3])
    print("x =", x)
    print("x + ints (broadcast, promoted to", (x + ints).dtype, ") =", x + ints)

    # views share storage: writing through a transpose changes x
    xt = x.t()
    xt[0, 1] = 100.0
    print("after xt[0, 1] = 100, x[1, 0] =", x[1, 0].item())

    # reductions, linear algebra, indexing
    w = torch.randn(3, 4)
    y = x @ w
    print("y = x @ w has shape", tuple(y.shape), "and row sums", y.sum(dim=1))
    print("softmax of x's first row:", torch.softmax(x[0], dim=0))
    print("entries of x above 2:", x[x > 2])

    # errors name the op and the argument, as PyTorch's do
    try:
        x @ torch.ones(4, 2)
    except RuntimeError as exc:
        print("error:", exc)

    # which backends are installed (python -m mbtorch info prints the details)
    for row in torch.backends.status():
        print(f"backend {row.device_type}: {row.state}")


if __name__ == "__main__":
    main()
