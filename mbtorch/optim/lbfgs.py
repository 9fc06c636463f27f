"""L-BFGS with an optional strong-Wolfe line search, iteration for iteration as PyTorch's
(itself after minFunc). ``step(closure)`` re-evaluates the loss as often as it needs."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from .. import autograd as _ag
from ..core.ops.creation import zeros
from ..core.ops.joining import cat
from ._state import check_lr, scalar
from .optimizer import Optimizer

__all__ = ["LBFGS"]


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through two points with their derivatives, clamped to
    ``bounds`` (the midpoint when the cubic has none)."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = d2_square.sqrt()
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


class _Bracket:
    """The interval the zoom phase of the strong-Wolfe search narrows: step sizes, losses,
    gradients and directional derivatives at its two ends."""

    def __init__(self, t, f, g, gtd):
        self.t, self.f, self.g, self.gtd = t, f, g, gtd

    def order(self) -> tuple[int, int]:
        return (0, 1) if self.f[0] <= self.f[-1] else (1, 0)

    def set(self, i, t, f, g, gtd) -> None:
        self.t[i], self.f[i], self.g[i], self.gtd[i] = t, f, g, gtd


def _bracket_phase(obj_func, x, t, d, f, g, gtd, c1, c2, max_ls):
    """Grow the step until an interval holding a point that satisfies the strong Wolfe
    conditions is bracketed (or such a point is found: ``done``)."""
    f_new, g_new = obj_func(x, t, d)
    evals, ls_iter = 1, 0
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            return _Bracket([t_prev, t], [f_prev, f_new], [g_prev, g_new.clone()],
                            [gtd_prev, gtd_new]), False, evals, ls_iter
        if abs(gtd_new) <= -c2 * gtd:
            return _Bracket([t], [f_new], [g_new], [gtd_new]), True, evals, ls_iter
        if gtd_new >= 0:
            return _Bracket([t_prev, t], [f_prev, f_new], [g_prev, g_new.clone()],
                            [gtd_prev, gtd_new]), False, evals, ls_iter
        min_step, max_step = t + 0.01 * (t - t_prev), t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.clone(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    # the search ran out of evaluations: bracket from the start (PyTorch leaves the gradient
    # slopes of this bracket as they were, which the zoom never reads once ls_iter == max_ls)
    return _Bracket([0, t], [f, f_new], [g, g_new], [None, None]), False, evals, ls_iter


def _zoom_point(br: _Bracket, insuf_progress: bool):
    t = _cubic_interpolate(br.t[0], br.f[0], br.gtd[0], br.t[1], br.f[1], br.gtd[1])
    lo, hi = min(br.t), max(br.t)
    eps = 0.1 * (hi - lo)
    if min(hi - t, t - lo) < eps:
        if insuf_progress or t >= hi or t <= lo:
            t = hi - eps if abs(t - hi) < abs(t - lo) else lo + eps
            return t, False
        return t, True
    return t, False


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    d_norm = d.abs().max()
    g = g.clone()
    br, done, evals, ls_iter = _bracket_phase(obj_func, x, t, d, f, g, gtd, c1, c2, max_ls)
    insuf_progress = False
    low_pos, high_pos = br.order()
    while not done and ls_iter < max_ls:
        if abs(br.t[1] - br.t[0]) * d_norm < tolerance_change:
            break
        t, insuf_progress = _zoom_point(br, insuf_progress)
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= br.f[low_pos]:
            br.set(high_pos, t, f_new, g_new.clone(), gtd_new)
            low_pos, high_pos = (0, 1) if br.f[0] <= br.f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (br.t[high_pos] - br.t[low_pos]) >= 0:
                br.set(high_pos, br.t[low_pos], br.f[low_pos], br.g[low_pos], br.gtd[low_pos])
            br.set(low_pos, t, f_new, g_new.clone(), gtd_new)
    return br.f[low_pos], br.g[low_pos], br.t[low_pos], evals


class LBFGS(Optimizer):
    """L-BFGS over all parameters as one flat vector; one parameter group only."""

    _state_has_param_shapes = False

    def __init__(self, params: Iterable[Any], lr: float = 1, max_iter: int = 20,
                 max_eval: int | None = None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None):
        check_lr(lr)
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got "
                             f"{line_search_fn!r}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                                      tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change,
                                      history_size=history_size, line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]
        for p in self._params:
            if p.is_complex():
                raise ValueError("LBFGS: complex parameters are not supported by mbtorch")

    def _gather_flat_grad(self):
        views = [zeros(p.numel(), dtype=p.dtype, device=p.device) if p.grad is None
                 else p.grad.reshape(-1) for p in self._params]
        return cat(views, 0)

    def _add_grad(self, step_size, update) -> None:
        offset = 0
        for p in self._params:
            numel = p.numel()
            p.add_(update[offset:offset + numel].view_as(p), alpha=float(step_size))
            offset += numel

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = float(self._evaluate(closure))
        flat_grad = self._gather_flat_grad()
        for p, pdata in zip(self._params, x):
            p.copy_(pdata)
        return loss, flat_grad

    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """One optimisation step: up to ``max_iter`` L-BFGS iterations, each reevaluating
        ``closure`` (which must clear the gradients, compute the loss, backpropagate and
        return the loss)."""
        if closure is None:
            raise RuntimeError("LBFGS.step() requires a closure that reevaluates the model "
                               "and returns the loss")
        with _ag.no_grad():
            return self._run(closure)

    def _evaluate(self, closure):
        with _ag.enable_grad():
            return closure()

    def _run(self, closure):
        group = self.param_groups[0]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = self._evaluate(closure)
        loss = float(orig_loss)
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if flat_grad.abs().max() <= group["tolerance_grad"]:
            return orig_loss
        run = _Iteration(self, closure, group, state, loss, flat_grad)
        run.loop()
        run.save()
        return orig_loss


class _Iteration:
    """The state one ``LBFGS.step`` carries between its iterations (PyTorch's local
    variables), loaded from and saved back to the optimizer state."""

    def __init__(self, opt: LBFGS, closure, group, state, loss, flat_grad):
        self.opt, self.closure, self.group, self.state = opt, closure, group, state
        self.loss, self.flat_grad = loss, flat_grad
        for k in ("d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad",
                  "prev_loss"):
            setattr(self, k, state.get(k))

    def save(self) -> None:
        for k in ("d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad",
                  "prev_loss"):
            self.state[k] = getattr(self, k)

    def _direction(self) -> None:
        state, flat_grad = self.state, self.flat_grad
        if state["n_iter"] == 1:
            self.d = flat_grad.neg()
            self.old_dirs, self.old_stps, self.ro, self.H_diag = [], [], [], 1
            return
        y = flat_grad.sub(self.prev_flat_grad)
        s = self.d.mul(self.t)
        ys = y.dot(s)
        if ys > 1e-10:
            if len(self.old_dirs) == self.group["history_size"]:
                self.old_dirs.pop(0)
                self.old_stps.pop(0)
                self.ro.pop(0)
            self.old_dirs.append(y)
            self.old_stps.append(s)
            self.ro.append(1.0 / ys)
            self.H_diag = ys / y.dot(y)
        if "al" not in state:
            state["al"] = [None] * self.group["history_size"]
        al = state["al"]
        q = flat_grad.neg()
        for i in range(len(self.old_dirs) - 1, -1, -1):
            al[i] = self.old_stps[i].dot(q) * self.ro[i]
            q.add_(self.old_dirs[i], alpha=-float(al[i]))
        self.d = r = q * self.H_diag
        for i in range(len(self.old_dirs)):
            be_i = self.old_dirs[i].dot(r) * self.ro[i]
            r.add_(self.old_stps[i], alpha=float(al[i] - be_i))

    def _line_search(self, lr: float, gtd, current_evals: int):
        group, opt = self.group, self.opt
        if group["line_search_fn"] is not None:
            x_init = [p.clone() for p in opt._params]

            def obj_func(x, t, d):
                return opt._directional_evaluate(self.closure, x, t, d)

            self.loss, self.flat_grad, self.t, evals = _strong_wolfe(
                obj_func, x_init, self.t, self.d, self.loss, self.flat_grad, gtd,
                max_ls=group["max_eval"] - current_evals)
            opt._add_grad(self.t, self.d)
            return evals, bool(self.flat_grad.abs().max() <= group["tolerance_grad"])
        opt._add_grad(self.t, self.d)
        if self.n_iter != group["max_iter"]:
            self.loss = float(opt._evaluate(self.closure))
            self.flat_grad = opt._gather_flat_grad()
            return 1, bool(self.flat_grad.abs().max() <= group["tolerance_grad"])
        return 0, False

    def loop(self) -> None:
        group, state = self.group, self.state
        lr, current_evals, self.n_iter = scalar(group["lr"]), 1, 0
        while self.n_iter < group["max_iter"]:
            self.n_iter += 1
            state["n_iter"] += 1
            self._direction()
            if self.prev_flat_grad is None:
                self.prev_flat_grad = self.flat_grad.clone()
            else:
                self.prev_flat_grad.copy_(self.flat_grad)
            self.prev_loss = self.loss
            if state["n_iter"] == 1:
                self.t = min(1.0, 1.0 / self.flat_grad.abs().sum()) * lr
            else:
                self.t = lr
            gtd = self.flat_grad.dot(self.d)
            if gtd > -group["tolerance_change"]:
                break
            evals, opt_cond = self._line_search(lr, gtd, current_evals)
            current_evals += evals
            state["func_evals"] += evals
            if (self.n_iter == group["max_iter"] or current_evals >= group["max_eval"]
                    or opt_cond
                    or self.d.mul(self.t).abs().max() <= group["tolerance_change"]
                    or abs(self.loss - self.prev_loss) < group["tolerance_change"]):
                break
