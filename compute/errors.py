"""Every error the compute layer raises, in one tree.

```
ComputeError
├── InvalidInput                  bad parameters or inputs, refused before anything is sent
│   ├── NotAParty                 a party (or an input's owner) outside the job's roster
│   └── EncodingOverflow          a value outside what fixed-point encoding or the ring can hold
├── ChannelError                  a peer or one of its messages failed a check  (party, step)
│   ├── MessageRejected           the receiver refused a message
│   │   ├── MalformedMessage      unparseable envelope or payload
│   │   ├── SignatureInvalid      unsigned, or signed by someone other than the named sender
│   │   ├── DecryptionFailed      ciphertext not sealed to this receiver by that sender
│   │   ├── ReplayedMessage       a sequence number already consumed
│   │   ├── OutOfOrderMessage     a gap in the sequence, or a step the protocol is not at
│   │   └── ForeignMessage        another job, another receiver, or a sender outside the job
│   ├── PartyTimeout              a party stopped answering within the step's deadline
│   ├── PartyUnreachable          a message could not be delivered to a party
│   └── PeerAborted               a peer aborted the run and told us why (its culprit, its step)
├── ProtocolViolation             a peer's well-formed message breaks the protocol  (party, step)
│   └── TooManyDropouts           fewer parties than the threshold survived  (party = the first one missing)
├── RoleFailed                    an unexpected exception inside a party's own role  (party, step)
└── ProtocolAborted               what a protocol's entry point raises: the run stopped, no result
                                  is released; `.cause` is one of the errors above and `.failure`
                                  the FailureRecord written to the audit trail
```
Every `ChannelError`/`ProtocolViolation`/`ProtocolAborted` names the party at fault and
the protocol step, so an operator (and the audit trail) can say who broke what.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from compute.transcript import FailureRecord


class ComputeError(Exception):
    """Root of every compute-layer error."""


class InvalidInput(ComputeError):
    """Parameters or inputs that the protocol refuses before sending anything."""


class NotAParty(InvalidInput):
    """A party outside the job's roster."""

    def __init__(self, party: str, detail: str = "") -> None:
        self.party = party
        super().__init__(f"{party} is not a party of this job" + (f": {detail}" if detail else ""))


class EncodingOverflow(InvalidInput):
    """A value that fixed-point encoding or the sharing ring cannot hold exactly."""


class _Blamed(ComputeError):
    """An error naming the party at fault and the protocol step."""

    def __init__(self, party: str, step: str, detail: str) -> None:
        self.party = party
        self.step = step
        self.detail = detail
        super().__init__(f"{type(self).__name__}: party {party} at step {step!r}: {detail}")


class ChannelError(_Blamed):
    """A peer, or one of its messages, failed a transport check."""


class MessageRejected(ChannelError):
    """The receiver refused a message."""


class MalformedMessage(MessageRejected):
    """An envelope or payload that does not parse."""


class SignatureInvalid(MessageRejected):
    """A message not signed by the sender it names."""


class DecryptionFailed(MessageRejected):
    """A ciphertext that does not open for this receiver from that sender."""


class ReplayedMessage(MessageRejected):
    """A message whose sequence number was already consumed."""


class OutOfOrderMessage(MessageRejected):
    """A message ahead of its sequence, or for a step the protocol is not at."""


class ForeignMessage(MessageRejected):
    """A message for another job or receiver, or from a sender outside the job."""


class PartyTimeout(ChannelError):
    """A party did not answer within the step's deadline."""


class PartyUnreachable(ChannelError):
    """A message could not be delivered to a party."""


class PeerAborted(ChannelError):
    """A peer aborted the run; `party` and `step` are the ones it blamed."""


class ProtocolViolation(_Blamed):
    """A well-formed, authentic message that breaks the protocol's rules."""


class TooManyDropouts(ProtocolViolation):
    """Fewer parties than the threshold survived; nothing can be released."""


class RoleFailed(_Blamed):
    """An exception that is not a ComputeError escaped a party's role (a bug, memory, a disk): the
    party names itself and the step it was at, and its peers are told instead of waiting."""


class ProtocolAborted(ComputeError):
    """The run stopped without releasing a result; `cause` says why, `failure` is the audit record."""

    def __init__(self, cause: ComputeError, failure: FailureRecord) -> None:
        self.cause = cause
        self.failure = failure
        self.party = failure.party
        self.step = failure.step
        super().__init__(f"job {failure.job_id} aborted at step {failure.step!r} by party {failure.party}: {cause}")
