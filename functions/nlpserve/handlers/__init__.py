"""Lambda entry points: thin adapters from an event to the API app or the batch processor."""
