"""galaxy-xai: explainable deep learning of galaxy morphology.

Three published methods in one toolkit:

* saliency maps and bar lengths measured from them (Bhambra, Joachimi & Lahav 2022,
  MNRAS 511, 5032);
* GaMorNet, bulge/disk classification trained on simulations and transfer-learned on
  real surveys, with Monte Carlo dropout uncertainties (Ghosh et al. 2020, ApJ 895, 112);
* dataset distillation by trajectory matching, MTT and its self-adaptive variant STM
  (Guan et al. 2023, arXiv:2311.17967).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("galaxy-xai")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
