import pytest

from authz.rules import CriterionSpec, RuleSet, compile_constraint, compile_criterion

TEXT_CASES = [
    # (operator, value, attribute, expected)
    ("equals", "db-a", "db-a", True),
    ("equals", "db-a", "db-ab", False),
    ("equals", "db-a", "DB-A", False),
    ("contains", "-a", "db-a#deleted", True),
    ("contains", "x", "db-a", False),
    ("does_not_contain", "#deleted", "db-a", True),
    ("does_not_contain", "#deleted", "db-a#deleted", False),
    ("starts_with", "/database", "/database/db-a/workflows", True),
    ("starts_with", "/database", "/workflows", False),
    ("ends_with", "/workflows", "/database/db-a/workflows", True),
    ("ends_with", "/workflows", "/database/db-a/workflows/wf-1", False),
    ("is_one_of", "db-a", "db-a", True),
    ("is_one_of", "db-a", "db-b", False),
    ("is_not_one_of", "db-a", "db-b", True),
    ("is_not_one_of", "db-a", "db-a", False),
]


@pytest.mark.parametrize(("operator", "value", "attribute", "expected"), TEXT_CASES)
def test_criterion_on_text(operator, value, attribute, expected):
    predicate = compile_criterion(CriterionSpec("databaseId", operator, value))

    assert predicate({"databaseId": attribute}) is expected


REGEX_LOOKALIKES = [
    # Each value would match "db-a" as a regular expression; literally it must not.
    ("equals", ".*"),
    ("equals", "db-."),
    ("contains", ".*"),
    ("starts_with", "^db"),
    ("ends_with", "a$"),
    ("equals", "db-a|db-b"),
    ("equals", "[d]b-a"),
]


@pytest.mark.parametrize(("operator", "value"), REGEX_LOOKALIKES)
def test_criterion_value_is_literal_not_regex(operator, value):
    predicate = compile_criterion(CriterionSpec("databaseId", operator, value))

    assert predicate({"databaseId": "db-a"}) is False


def test_criterion_matches_regex_characters_literally():
    predicate = compile_criterion(CriterionSpec("workflowId", "equals", "wf.*(1)"))

    assert predicate({"workflowId": "wf.*(1)"}) is True
    assert predicate({"workflowId": "wf-x(1)"}) is False


LIST_CASES = [
    # (operator, value, tags, expected)
    ("contains", "lock", ["locked", "reviewed"], True),
    ("contains", "lock", ["reviewed"], False),
    ("equals", "locked", ["locked", "reviewed"], True),
    ("equals", "lock", ["locked"], False),
    ("starts_with", "rev", ["locked", "reviewed"], True),
    ("ends_with", "ed", ["draft"], False),
    ("does_not_contain", "lock", ["reviewed", "draft"], True),
    ("does_not_contain", "lock", ["reviewed", "locked"], False),
    ("does_not_contain", "lock", [], True),
    ("contains", "lock", [], False),
    ("is_one_of", "locked", ["locked", "reviewed"], True),
    ("is_one_of", "lock", ["locked"], False),
    ("is_not_one_of", "locked", ["reviewed"], True),
    ("is_not_one_of", "locked", ["locked"], False),
]


@pytest.mark.parametrize(("operator", "value", "tags", "expected"), LIST_CASES)
def test_criterion_on_list(operator, value, tags, expected):
    predicate = compile_criterion(CriterionSpec("tags", operator, value))

    assert predicate({"tags": tags}) is expected


def test_criterion_missing_attribute_is_empty():
    lacks_x = compile_criterion(CriterionSpec("assetName", "does_not_contain", "x"))
    starts = compile_criterion(CriterionSpec("assetName", "starts_with", "a"))

    assert lacks_x({}) is True
    assert lacks_x({"assetName": None}) is True
    assert starts({"assetName": None}) is False


def test_criterion_unknown_operator_raises():
    with pytest.raises(ValueError, match="Unknown criterion operator 'matches'"):
        compile_criterion(CriterionSpec("databaseId", "matches", "x"))


def test_constraint_and_rule_needs_every_criterion():
    rules = compile_constraint(
        [
            CriterionSpec("databaseId", "equals", "db-a"),
            CriterionSpec("workflowId", "starts_with", "wf-"),
        ],
        [],
    )

    assert len(rules) == 1
    assert rules[0]({"databaseId": "db-a", "workflowId": "wf-1"}) is True
    assert rules[0]({"databaseId": "db-a", "workflowId": "other"}) is False


def test_constraint_or_rule_needs_any_criterion():
    rules = compile_constraint(
        [],
        [
            CriterionSpec("databaseId", "equals", "db-a"),
            CriterionSpec("databaseId", "equals", "db-b"),
        ],
    )

    assert len(rules) == 1
    assert rules[0]({"databaseId": "db-b"}) is True
    assert rules[0]({"databaseId": "db-c"}) is False


def test_constraint_both_lists_either_selects():
    rules = compile_constraint(
        [CriterionSpec("databaseId", "equals", "db-a")],
        [CriterionSpec("workflowId", "equals", "wf-9")],
    )
    selects = lambda obj: any(rule(obj) for rule in rules)  # noqa: E731

    assert len(rules) == 2
    assert selects({"databaseId": "db-a", "workflowId": "wf-1"}) is True
    assert selects({"databaseId": "db-z", "workflowId": "wf-9"}) is True
    assert selects({"databaseId": "db-z", "workflowId": "wf-1"}) is False


def test_constraint_without_criteria_has_no_rule():
    assert compile_constraint([], []) == []


RULE_SET_CONSTRAINTS = [
    # (AND criteria, OR criteria)
    ([CriterionSpec("databaseId", "equals", "db-a")], []),
    (
        [
            CriterionSpec("databaseId", "equals", "db-b"),
            CriterionSpec("workflowId", "starts_with", "wf-"),
        ],
        [],
    ),
    (
        [],
        [
            CriterionSpec("workflowId", "equals", "wf-x"),
            CriterionSpec("workflowId", "ends_with", "-z"),
        ],
    ),
    ([CriterionSpec("tags", "equals", "public")], []),
]
RULE_SET_OBJECTS = [
    ({"databaseId": "db-a", "workflowId": "other"}, True),
    ({"databaseId": "db-b", "workflowId": "wf-1"}, True),
    ({"databaseId": "db-b", "workflowId": "other"}, False),
    ({"databaseId": "db-c", "workflowId": "wf-x"}, True),
    ({"databaseId": "db-c", "workflowId": "pipe-z"}, True),
    ({"databaseId": "db-c", "workflowId": "wf-y"}, False),
    ({"databaseId": "db-c", "tags": ["draft", "public"]}, True),
    ({"databaseId": "db-c", "tags": ["publics"]}, False),
    ({}, False),
]


@pytest.mark.parametrize(("obj", "expected"), RULE_SET_OBJECTS)
def test_rule_set_matches_like_its_constraints(obj, expected):
    rule_set = RuleSet()
    separate_rules = []
    for criteria_and, criteria_or in RULE_SET_CONSTRAINTS:
        rule_set.add_constraint(criteria_and, criteria_or)
        separate_rules += compile_constraint(criteria_and, criteria_or)

    assert rule_set.matches(obj) is expected
    assert any(rule(obj) for rule in separate_rules) is expected


def test_rule_set_without_constraints_is_empty():
    rule_set = RuleSet()

    assert not rule_set
    assert rule_set.matches({"databaseId": "db-a"}) is False
