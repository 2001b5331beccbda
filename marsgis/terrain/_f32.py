"""float32 constants of the terrain kernels, one home for both implementations (private).

:mod:`marsgis.terrain._kernels` (numba) and :mod:`marsgis.terrain._numpy_kernels` (numpy)
compute bit for bit the same cells; they share these values (Cephes' ``atanf`` coefficients,
angles, hillshade scale) so neither can drift. numba reads them as compile-time constants.
"""

from __future__ import annotations

import numpy as np

_F = np.float32
_NAN = _F(np.nan)
_ZERO = _F(0.0)
_ONE = _F(1.0)
_TWO = _F(2.0)
_DEG = _F(180.0 / np.pi)
_PI = _F(np.pi)
_PIO2 = _F(np.pi / 2.0)
_PIO4 = _F(np.pi / 4.0)
_T3P8 = _F(2.414213562373095)  # tan(3π/8)
_TP8 = _F(0.4142135623730950)  # tan(π/8)
_C0 = _F(8.05374449538e-2)
_C1 = _F(1.38776856032e-1)
_C2 = _F(1.99777106478e-1)
_C3 = _F(3.33329491539e-1)
_F254 = _F(254.0)
_F360 = _F(360.0)
