"""`examples/quickstart.ipynb` runs top to bottom in a real Jupyter kernel (nbclient), offline.

The notebook starts its own emulator on loopback, so nothing here needs a server; the kernel is
the IPython kernel of this interpreter, whose running event loop is what the sync client must
cope with.
"""

from __future__ import annotations

from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "quickstart.ipynb"


def outputs(notebook: nbformat.NotebookNode, starts: str) -> list[nbformat.NotebookNode]:
    """The outputs of the one code cell whose source starts with `starts`."""
    (cell,) = [c for c in notebook.cells if c.cell_type == "code" and c.source.startswith(starts)]
    found: list[nbformat.NotebookNode] = cell.outputs
    return found


@pytest.mark.slow
def test_quickstart_notebook_runs_top_to_bottom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cell runs without error; the upload, tables, plot and async cell show what they should."""
    for name in ("IPYTHONDIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "MPLCONFIGDIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), (
        "commit it without outputs"
    )
    nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    (summary,) = outputs(notebook, "options = UploadOptions(")[:1]
    assert summary["text"].startswith("6 uploaded")
    results_html = outputs(notebook, "options = UploadOptions(")[1]["data"]["text/html"]
    assert results_html.count("<td>SUCCESS</td>") == 6
    (curve,) = outputs(notebook, "curve = bh.targets.photometry")
    assert "NotebookStar (photometry): 6 points" in curve["data"]["text/html"]
    (table,) = outputs(notebook, "table = curve.to_table()")
    assert "is_limit" in table["data"]["text/html"]
    (described,) = outputs(notebook, "frame = curve.to_pandas()")
    assert "V(GaiaSP)" in described["data"]["text/plain"]
    (figure,) = outputs(notebook, "figure = curve.plot(")
    assert "image/png" in figure["data"]
    (same,) = outputs(notebook, "from bhtom_async import Client")
    assert same["data"]["text/plain"] == "True"
