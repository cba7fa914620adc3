"""Course manuals shipped with peerstudy (YAML, validated by :mod:`study.fidelity.manual`)."""
