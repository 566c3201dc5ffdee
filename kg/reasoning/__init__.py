"""OWL RL reasoning: the entailments a build (or an import) adds, apart from the asserted facts."""
