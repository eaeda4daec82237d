"""Jobs end to end: data-source commitments, the demo's data, the job runner."""
