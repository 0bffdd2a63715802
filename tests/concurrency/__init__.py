"""Real connections and real commits: what must hold when requests race."""
