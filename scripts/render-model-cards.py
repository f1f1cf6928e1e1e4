"""Write docs/models.md: every shipped model's card as Markdown (rerun after shipping one)."""

from __future__ import annotations

from pathlib import Path

from galaxy_xai.models.shipped import read_card, shipped_dir
from galaxy_xai.zoo.package import render_card

HEADER = """# Shipped models

Generated from the cards in `src/galaxy_xai/models/zoo/*/card.json` by
`python scripts/render-model-cards.py`. `galaxy-xai models show NAME` prints the same.

"""


def main() -> None:
    folders = sorted(p for p in shipped_dir().iterdir() if (p / "card.json").is_file())
    text = HEADER + "\n".join(render_card(read_card(f, name=f.name)) for f in folders)
    out = Path(__file__).resolve().parents[1] / "docs" / "models.md"
    out.write_text(text)
    print(f"{len(folders)} cards -> {out}")


if __name__ == "__main__":
    main()
