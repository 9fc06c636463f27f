"""Floating-point errors ignored inside one kernel call, and only there.

PyTorch never warns on 1/0, overflow or an invalid cast; NumPy does unless told not to, and
``np.seterr(all="ignore")`` would silence the user's own NumPy code too. ``np.errstate`` per
call costs 1-3 µs (a context manager and a new error-state object each time), more than a
small ufunc itself.

NumPy keeps its error state in a context variable. One prebuilt ``contextvars.Context``, in
which that variable says "ignore all", serves every kernel: an array-module call runs inside
it through ``Context.run`` (one C call, ~0.1 µs over the bare call, where setting and
resetting the variable costs ~0.4 µs). The hot kernel factories (``primitives.binary_ufunc``,
``array_results``, the cpu plugin's reductions) put that call inline, with no wrapper frame;
``QuietCalls.wrap`` covers any other kernel by setting the variable around the call.

A context can be entered by one caller at a time. When it already is (another thread is
inside a long ufunc, or a kernel running in it calls another), ``Context.run`` raises
``RuntimeError`` before calling anything, and ``retry`` takes over: a call from inside the
context runs directly (the state is already "ignore"), any other runs in a context of its
own thread. A ``RuntimeError`` raised by the call itself also lands in ``retry``, which then
repeats the call and lets it raise: the inline form is used only for pure functions (ufuncs,
reductions) that write nothing but their result.

Only NumPy's variable is set in these contexts: code run there sees the defaults of every
other context variable.
"""

from __future__ import annotations

__all__ = ["QuietCalls", "for_numpy"]

import contextvars
import functools
import threading
from typing import Any, Callable


class QuietCalls:
    """Runs calls with the array module's floating-point errors ignored.

    ``var`` is the module's error-state context variable and ``ignore`` the value that
    ignores every error. The inline form a kernel uses is ::

        try:
            return quiet.run(f, *args)
        except RuntimeError:
            return quiet.retry(f, *args)
    """

    __slots__ = ("var", "ignore", "run", "local")

    def __init__(self, var: contextvars.ContextVar, ignore: Any):
        self.var, self.ignore = var, ignore
        self.run = self._context().run
        self.local = threading.local()

    def _context(self) -> contextvars.Context:
        ctx = contextvars.Context()
        ctx.run(self.var.set, self.ignore)
        return ctx

    def retry(self, f: Callable, *args: Any, **kwargs: Any) -> Any:
        """``f(*args, **kwargs)`` after ``run`` found the shared context entered (or ``f``
        raised ``RuntimeError`` itself, which it does again here)."""
        if self.var.get() is self.ignore:
            return f(*args, **kwargs)  # called from inside a quiet context: already quiet
        try:
            run = self.local.run
        except AttributeError:
            run = self.local.run = self._context().run
        return run(f, *args, **kwargs)  # this thread's own context

    def wrap(self, kernel: Callable) -> Callable:
        """``kernel`` made to run quietly (positional arguments: the core passes no others).

        The wrapper sets the variable and resets it after the call (~0.3 µs) rather than
        entering the thread's context: the inline kernels a wrapped kernel calls (``power``
        calls the quiet ``pow``) then enter that context without finding it entered."""
        var, ignore = self.var, self.ignore

        @functools.wraps(kernel)
        def run(*args):
            token = var.set(ignore)
            try:
                return kernel(*args)
            finally:
                var.reset(token)  # also when the kernel raises: nothing leaks to the caller

        run.quiet = True
        nin = getattr(kernel, "nin", None)
        if nin is not None:
            run.nin = nin  # keeps the registry's arity check on ufuncs
        return run


def for_numpy() -> QuietCalls | None:
    """NumPy's error-state variable and its "ignore all" value, or None where this NumPy
    keeps them elsewhere (the kernels then use ``np.errstate``)."""
    try:
        from numpy._core import _ufunc_config as config

        return QuietCalls(config._extobj_contextvar, config._make_extobj(all="ignore"))
    except (ImportError, AttributeError, TypeError):
        return None
