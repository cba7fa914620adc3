"""The self-contained HTML report of a study (``peerstudy report``)."""
