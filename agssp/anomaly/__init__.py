"""Stage 1: anomaly maps (one folder per method) and the map files they write."""
from agssp.anomaly import kead  # noqa: F401  (registration)
from agssp.anomaly import synthseg  # noqa: F401  (registration)
