"""Typed Python client for the twofa two-factor-authentication sidecar.

>>> from twofa_client import TwoFactorClient
>>> with TwoFactorClient("127.0.0.1:50051") as client:  # doctest: +SKIP
...     client.verify_code("acme", "alice", "123456").accepted
"""

from .client import PolicyFields as PolicyFields
from .client import TwoFactorClient as TwoFactorClient
from .errors import DeadlineExceeded as DeadlineExceeded
from .errors import FailedPrecondition as FailedPrecondition
from .errors import FieldViolation as FieldViolation
from .errors import Internal as Internal
from .errors import InvalidArgument as InvalidArgument
from .errors import NotFound as NotFound
from .errors import NotImplementedByServer as NotImplementedByServer
from .errors import PermissionDenied as PermissionDenied
from .errors import PreconditionViolation as PreconditionViolation
from .errors import ResourceExhausted as ResourceExhausted
from .errors import TwoFactorError as TwoFactorError
from .errors import Unauthenticated as Unauthenticated
from .errors import Unavailable as Unavailable
from .errors import error_from_rpc_error as error_from_rpc_error
from .types import AuthenticatorSetup as AuthenticatorSetup
from .types import BackupCodes as BackupCodes
from .types import DeviceTokenStatus as DeviceTokenStatus
from .types import DisableResult as DisableResult
from .types import EmailSetup as EmailSetup
from .types import Enforcement as Enforcement
from .types import Frequency as Frequency
from .types import ImportedAuthenticator as ImportedAuthenticator
from .types import ImportResult as ImportResult
from .types import LoginCodeSent as LoginCodeSent
from .types import LoginDecision as LoginDecision
from .types import LoginEvaluation as LoginEvaluation
from .types import LoginReason as LoginReason
from .types import Method as Method
from .types import MethodState as MethodState
from .types import MethodStatus as MethodStatus
from .types import Notice as Notice
from .types import Policy as Policy
from .types import PolicyInfo as PolicyInfo
from .types import QrImages as QrImages
from .types import SetupConfirmation as SetupConfirmation
from .types import TrustedDevice as TrustedDevice
from .types import UserStatus as UserStatus
from .types import Verdict as Verdict
from .types import Verification as Verification
from .types import VerifyReason as VerifyReason
from .types import VerifyResult as VerifyResult

__version__ = "0.1.0"
