"""Compile constraint criteria into plain Python predicates over attribute dicts.

Each predicate is built once, when a user's rules are loaded, and then called
for every request. Nothing is parsed or evaluated as text at request time.
Values are compared as literal text. An attribute that is missing or None
reads as "". A list attribute (``tags``) passes a test when any element
passes it. ``does_not_contain`` instead needs every element to pass, and
``is_one_of`` and ``is_not_one_of`` test whether the value equals an element.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

Predicate = Callable[[Mapping], bool]

EQUALS = "equals"
CONTAINS = "contains"
DOES_NOT_CONTAIN = "does_not_contain"
STARTS_WITH = "starts_with"
ENDS_WITH = "ends_with"
IS_ONE_OF = "is_one_of"
IS_NOT_ONE_OF = "is_not_one_of"

_LIST_TYPES = (list, tuple, set, frozenset)


@dataclass(frozen=True)
class CriterionSpec:
    field: str
    operator: str
    value: str


def _as_text(raw) -> str:
    return "" if raw is None else str(raw)


def _text_test(operator: str, value: str) -> Callable[[str], bool]:
    """Return the test one text attribute must pass for ``operator`` and ``value``."""
    if operator == EQUALS:
        return lambda text: text == value
    if operator in (CONTAINS, IS_ONE_OF):
        return lambda text: value in text
    if operator in (DOES_NOT_CONTAIN, IS_NOT_ONE_OF):
        return lambda text: value not in text
    if operator == STARTS_WITH:
        return lambda text: text.startswith(value)
    if operator == ENDS_WITH:
        return lambda text: text.endswith(value)
    raise ValueError(f"Unknown criterion operator {operator!r}.")


def _list_test(operator: str, value: str) -> Callable[[list[str]], bool]:
    """Return the test a list attribute must pass for ``operator`` and ``value``."""
    if operator == IS_ONE_OF:
        return lambda items: value in items
    if operator == IS_NOT_ONE_OF:
        return lambda items: value not in items
    if operator == DOES_NOT_CONTAIN:
        return lambda items: not any(value in item for item in items)
    element_test = _text_test(operator, value)
    return lambda items: any(element_test(item) for item in items)


def compile_criterion(spec: CriterionSpec) -> Predicate:
    """Return a predicate that applies one criterion to an attribute dict."""
    field = spec.field
    text_test = _text_test(spec.operator, spec.value)
    list_test = _list_test(spec.operator, spec.value)

    def predicate(obj: Mapping) -> bool:
        raw = obj.get(field)
        if isinstance(raw, _LIST_TYPES):
            return list_test([_as_text(item) for item in raw])
        return text_test(_as_text(raw))

    return predicate


def compile_constraint(
    criteria_and: Iterable[CriterionSpec], criteria_or: Iterable[CriterionSpec]
) -> list[Predicate]:
    """Return the rules of one constraint: all AND criteria, and any OR criterion.

    A constraint with both lists selects an object when either rule does. An
    empty list yields no rule, so a constraint without criteria selects nothing.
    """
    rules: list[Predicate] = []
    and_tests = tuple(compile_criterion(spec) for spec in criteria_and)
    or_tests = tuple(compile_criterion(spec) for spec in criteria_or)
    if and_tests:
        rules.append(lambda obj: all(test(obj) for test in and_tests))
    if or_tests:
        rules.append(lambda obj: any(test(obj) for test in or_tests))
    return rules


class RuleSet:
    """The rules of several constraints. An object matches when any rule selects it.

    Single ``equals`` tests, the usual shape of a scoped constraint (for
    example ``databaseId equals db-a``), go into a set per attribute, so a
    thousand of them cost a few set lookups. Other rules run one by one.
    """

    def __init__(self) -> None:
        self._equals: dict[str, set[str]] = defaultdict(set)
        self._others: list[Predicate] = []

    def __bool__(self) -> bool:
        return bool(self._equals or self._others)

    def add_constraint(
        self,
        criteria_and: Iterable[CriterionSpec],
        criteria_or: Iterable[CriterionSpec],
    ) -> None:
        and_specs = list(criteria_and)
        if len(and_specs) == 1 and and_specs[0].operator == EQUALS:
            self._equals[and_specs[0].field].add(and_specs[0].value)
        elif and_specs:
            self._others.extend(compile_constraint(and_specs, []))
        # Any one OR criterion selects the object, so each becomes its own rule.
        for spec in criteria_or:
            if spec.operator == EQUALS:
                self._equals[spec.field].add(spec.value)
            else:
                self._others.append(compile_criterion(spec))

    def matches(self, obj: Mapping) -> bool:
        for field, values in self._equals.items():
            raw = obj.get(field)
            if isinstance(raw, _LIST_TYPES):
                if any(_as_text(item) in values for item in raw):
                    return True
            elif _as_text(raw) in values:
                return True
        return any(rule(obj) for rule in self._others)
