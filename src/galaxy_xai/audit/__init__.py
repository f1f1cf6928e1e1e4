"""Label audit: likely label errors of a labelled dataset (confident learning, cleanlab).

:func:`audit_dataset` (the ``galaxy-xai audit`` command) gets out-of-sample
probabilities by k-fold training or from a given model, ranks the likely label errors
with ``cleanlab`` (:func:`flag_label_issues`), and writes the table, a montage of the
suspects with saliency maps, and the bias check.
"""

from galaxy_xai.audit.folds import AUDIT_TRAIN_DEFAULTS, Probabilities, from_model, out_of_fold
from galaxy_xai.audit.labels import ISSUE_COLUMNS, flag_label_issues
from galaxy_xai.audit.run import AUDIT_FILES, AuditResult, audit_dataset

__all__ = [
    "AUDIT_FILES",
    "AUDIT_TRAIN_DEFAULTS",
    "ISSUE_COLUMNS",
    "AuditResult",
    "Probabilities",
    "audit_dataset",
    "flag_label_issues",
    "from_model",
    "out_of_fold",
]
