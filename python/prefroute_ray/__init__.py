"""prefroute on Ray Data."""
