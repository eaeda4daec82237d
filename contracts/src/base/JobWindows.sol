// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {Governed} from "./Governed.sol";
import {JobRecords} from "./JobRecords.sol";
import {JobTypes} from "./JobTypes.sol";

/// @title JobWindows
/// @notice The challenge, attestation and resolution windows that jobs opened from now on get;
/// governance sets them within documented ranges, and each job keeps the ones of its opening.
abstract contract JobWindows is Governed, JobRecords {
    /// @notice Governance range of the challenge window (the bootstrap may set less, for dev chains).
    uint64 public constant MIN_CHALLENGE_WINDOW = 10 minutes;
    uint64 public constant MAX_CHALLENGE_WINDOW = 30 days;
    /// @notice Range and default of the attestation window (commit → escalation possible).
    uint64 public constant MIN_ATTESTATION_WINDOW = 1 hours;
    uint64 public constant MAX_ATTESTATION_WINDOW = 7 days;
    uint64 public constant DEFAULT_ATTESTATION_WINDOW = 24 hours;
    /// @notice Range and default of the resolution window (dispute → default refund possible).
    uint64 public constant MIN_RESOLUTION_WINDOW = 1 days;
    uint64 public constant MAX_RESOLUTION_WINDOW = 14 days;

    uint64 private _challengeWindow;
    uint64 private _attestationWindow;
    uint64 private _resolutionWindow;

    /// @param challengeWindow_ At most MAX_CHALLENGE_WINDOW (below MIN_CHALLENGE_WINDOW only a
    /// bootstrap may go, for clocks that cannot warp).
    constructor(uint64 challengeWindow_) {
        _checkWindow(challengeWindow_, 0, MAX_CHALLENGE_WINDOW);
        _challengeWindow = challengeWindow_;
        _attestationWindow = DEFAULT_ATTESTATION_WINDOW;
        _resolutionWindow = MAX_RESOLUTION_WINDOW;
    }

    /// @notice Sets the challenge window of jobs opened from now on (governance only).
    /// @param window Seconds, from MIN_CHALLENGE_WINDOW to MAX_CHALLENGE_WINDOW.
    function setChallengeWindow(uint64 window) external onlyGovernance {
        _checkWindow(window, MIN_CHALLENGE_WINDOW, MAX_CHALLENGE_WINDOW);
        emit ChallengeWindowChanged(_challengeWindow, window);
        _challengeWindow = window;
    }

    /// @notice Sets the attestation window of jobs opened from now on (governance only).
    /// @param window Seconds, from MIN_ATTESTATION_WINDOW to MAX_ATTESTATION_WINDOW.
    function setAttestationWindow(uint64 window) external onlyGovernance {
        _checkWindow(window, MIN_ATTESTATION_WINDOW, MAX_ATTESTATION_WINDOW);
        emit AttestationWindowChanged(_attestationWindow, window);
        _attestationWindow = window;
    }

    /// @notice Sets the resolution window of jobs opened from now on (governance only).
    /// @param window Seconds, from MIN_RESOLUTION_WINDOW to MAX_RESOLUTION_WINDOW.
    function setResolutionWindow(uint64 window) external onlyGovernance {
        _checkWindow(window, MIN_RESOLUTION_WINDOW, MAX_RESOLUTION_WINDOW);
        emit ResolutionWindowChanged(_resolutionWindow, window);
        _resolutionWindow = window;
    }

    /// @notice The challenge window new jobs get (each job keeps the one of its opening: `jobTerms`).
    function challengeWindow() external view returns (uint64) {
        return _challengeWindow;
    }

    /// @notice The attestation window new jobs get.
    function attestationWindow() external view returns (uint64) {
        return _attestationWindow;
    }

    /// @notice The resolution window new jobs get.
    function resolutionWindow() external view returns (uint64) {
        return _resolutionWindow;
    }

    /// @dev The terms a job opened now gets: `feeBps` and the current windows.
    function _currentTerms(uint16 feeBps) internal view returns (JobTypes.Terms memory) {
        return JobTypes.Terms({
            feeBps: feeBps,
            challengeWindow: _challengeWindow,
            attestationWindow: _attestationWindow,
            resolutionWindow: _resolutionWindow
        });
    }

    function _checkWindow(uint64 window, uint64 min, uint64 max) private pure {
        if (window < min || window > max) revert JobLedgerWindowOutOfRange(window, min, max);
    }
}
