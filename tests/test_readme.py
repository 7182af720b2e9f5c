"""README.md stays true: its reproduce table is the command's output on the shipped data."""

import re

from dashboard.reproduce import format_table, reproduce
from tests.helpers import REPO


def test_readme_reproduce_table_is_current(shipped):
    text = (REPO / "README.md").read_text()
    m = re.search(r"<!-- reproduce:start -->\n(.*?)\n<!-- reproduce:end -->", text, re.S)
    assert m, "README.md lacks the reproduce table markers"
    assert m.group(1).strip() == format_table(reproduce(shipped)).strip()


def test_readme_has_exactly_two_setup_commands():
    text = (REPO / "README.md").read_text()
    section = text.split("## Set up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```\n(.*?)\n```", section, re.S)
    assert blocks == ["python3 -m pip install -r requirements.txt && python3 -m dashboard serve", "bash tests/run.sh"]
    assert "bash tests/run.sh" in (REPO / ".ci" / "run").read_text()
