"""Private set intersection: RSA blind signatures (`psi_rsa`) and Curve25519 ECDH (`psi_ecdh`)."""

from compute.psi.ecdh import psi_ecdh
from compute.psi.rsa import psi_rsa

__all__ = ["psi_ecdh", "psi_rsa"]
