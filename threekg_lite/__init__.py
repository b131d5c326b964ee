"""threekg-lite: 3KG contrastive self-supervised learning of 12-lead ECGs.

Importing the package has no side effects: nothing is read, written, seeded or downloaded.
"""

from .leads import INDEPENDENT_LEADS, LEAD_NAMES

__version__ = "0.2.0"
__all__ = ["LEAD_NAMES", "INDEPENDENT_LEADS", "__version__"]
