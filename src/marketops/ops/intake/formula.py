"""The priority formula: a safe arithmetic expression over named inputs, checked with `ast`.

The workspace owns the formula (e.g. `impact * urgency / effort * (1 - 0.1 * (risk - 1))`), so it
is data, never code: only numbers, the declared input names, + - * / ** and unary minus, and the
functions min, max, abs and round are accepted. Anything else (attributes, calls to other names,
comprehensions, strings) is refused when the catalog is loaded, not when a request arrives.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping, Set

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {"min": min, "max": max, "abs": abs, "round": round}
_MAX_POWER = 16  # 10 ** 10 ** 10 would hang the process; priorities never need big exponents


class FormulaError(ValueError):
    """The formula is not a safe arithmetic expression over the declared inputs."""


class Formula:
    """A parsed, checked formula; `evaluate(values)` is pure and fast (tree walk, no eval)."""

    def __init__(self, text: str, names: Set[str]) -> None:
        self.text = text
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise FormulaError(f"not an arithmetic expression: {exc.msg}") from exc
        self._tree = tree.body
        self.names = frozenset(names)
        self._check(self._tree)

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise FormulaError(f"only numbers are allowed, not {node.value!r}")
        elif isinstance(node, ast.Name):
            if node.id not in self.names:
                raise FormulaError(
                    f"unknown input {node.id!r}; declared inputs: {', '.join(sorted(self.names))}"
                )
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                raise FormulaError(f"operator {type(node.op).__name__} is not allowed")
            self._check(node.left)
            self._check(node.right)
        elif isinstance(node, ast.UnaryOp):
            if type(node.op) not in _UNARY:
                raise FormulaError(f"operator {type(node.op).__name__} is not allowed")
            self._check(node.operand)
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
                raise FormulaError(f"only {', '.join(sorted(_FUNCTIONS))} may be called")
            if node.keywords or not node.args:
                raise FormulaError(f"{node.func.id}() takes positional arguments only")
            for arg in node.args:
                self._check(arg)
        else:
            raise FormulaError(f"{type(node).__name__} is not allowed in a formula")

    def evaluate(self, values: Mapping[str, float]) -> float:
        """The formula's value; ValueError on division by zero or a non-finite result."""
        try:
            result = float(self._eval(self._tree, values))
        except ZeroDivisionError as exc:
            raise ValueError(f"{self.text}: division by zero") from exc
        except OverflowError as exc:
            raise ValueError(f"{self.text}: result too large") from exc
        if not math.isfinite(result):
            raise ValueError(f"{self.text}: result is not a finite number")
        return result

    def _eval(self, node: ast.AST, values: Mapping[str, float]) -> float:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.BinOp):
            left, right = self._eval(node.left, values), self._eval(node.right, values)
            if isinstance(node.op, ast.Pow) and abs(right) > _MAX_POWER:
                raise ValueError(f"{self.text}: exponent {right} is larger than {_MAX_POWER}")
            result = _BINARY[type(node.op)](left, right)
            if isinstance(result, complex):
                raise ValueError(f"{self.text}: negative number to a fractional power")
            return result
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](self._eval(node.operand, values))
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        return _FUNCTIONS[node.func.id](*(self._eval(a, values) for a in node.args))
