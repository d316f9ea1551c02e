"""target-recras: a Singer target that creates and updates Recras customers."""
