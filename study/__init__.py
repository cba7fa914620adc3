"""peerstudy: data management and fidelity platform for peer-support intervention studies."""

__version__ = "0.1.0"
