"""Templates are tenant input: asking for a gigabyte, or for endless loops, fails fast with an
error naming the template and the limit (never a MemoryError or a hang)."""

from __future__ import annotations

import pytest

from tidegate.appset import gotemplate
from tidegate.appset.gotemplate import limits
from tidegate.model import errors

HOSTILE = [
    (
        '{{ repeat 1000000000 "x" }}',
        "repeat would take 1,000,000,000 characters",
        "MAX_STRING_BYTES",
    ),
    (
        "{{ range 100000 }}{{ range 100000 }}{{ end }}{{ end }}",
        "range loops",
        "MAX_RANGE_ITERATIONS",
    ),
    ("{{ range 1000000000000000000 }}{{ end }}", "range loops", "MAX_RANGE_ITERATIONS"),
    ('{{ range 2000 }}{{ repeat 1000 "x" }}{{ end }}', "the output", "MAX_OUTPUT_BYTES"),
    (
        '{{ $x := "ab" }}{{ range 64 }}{{ $x = print $x $x }}{{ end }}',
        "print would take",
        "MAX_STRING_BYTES",
    ),
    (
        '{{ $x := repeat 1000000 "x" }}{{ range 100 }}{{ $y := print $x }}{{ end }}',
        "the values built",
        "MAX_WORK_BYTES",
    ),
    (
        "{{ $l := list 1 2 }}{{ range 64 }}{{ $l = list $l $l }}{{ end }}{{ toJson $l }}",
        "toJson: an argument",
        "MAX_STRING_BYTES",
    ),
    (
        "{{ $l := list 1 2 }}{{ range 64 }}{{ $l = list $l $l }}{{ end }}{{ $l }}",
        "printing a value",
        "MAX_OUTPUT_BYTES",
    ),
    ('{{ indent 1000000000 "x" }}', "indent would take", "MAX_STRING_BYTES"),
    ('{{ printf "%01000000000d" 1 }}', "printf: a width or precision", "MAX_STRING_BYTES"),
    (
        '{{ replace "" (repeat 100000 "y") (repeat 100000 "x") }}',
        "replace would take",
        "MAX_STRING_BYTES",
    ),
]


@pytest.mark.parametrize(
    ("template", "what", "limit"), HOSTILE, ids=[h[2] + ":" + h[1] for h in HOSTILE]
)
def test_a_template_that_asks_too_much_fails_naming_template_and_limit(
    template: str, what: str, limit: str
) -> None:
    with pytest.raises(errors.TemplateLimitError) as caught:
        gotemplate.Templates().render(template, {})
    message = str(caught.value)
    assert message.startswith(f"template {template[:57]!r}"[:20])
    assert what in message
    assert f"(tidegate.appset.gotemplate.limits.{limit})" in message
    assert isinstance(caught.value, errors.TemplateError)  # an ApplicationSet error condition
    assert isinstance(caught.value, errors.LimitExceededError)


def test_limits_leave_room_for_real_templates() -> None:
    rendered = gotemplate.Templates().render(
        '{{ range $i := 1000 }}{{ printf "%04d" $i }}{{ end }}{{ repeat 1000 "y" }}', {}
    )
    assert len(rendered) == 5000
    assert limits.MAX_OUTPUT_BYTES >= 1024 * 1024


def test_arithmetic_wraps_like_int64_instead_of_growing() -> None:
    template = "{{ $x := 3 }}{{ range 200 }}{{ $x = mul $x $x }}{{ end }}{{ $x }}"
    value = int(gotemplate.Templates().render(template, {}))
    assert -(2**63) <= value < 2**63
    assert gotemplate.Templates().render("{{ add 9223372036854775807 1 }}", {}) == str(-(2**63))


def test_deeply_nested_json_is_an_error_not_a_crash() -> None:
    with pytest.raises(errors.TemplateError, match="nested too deeply"):
        gotemplate.Templates().render(
            '{{ fromJson (print (repeat 100000 "[") (repeat 100000 "]")) }}', {}
        )
