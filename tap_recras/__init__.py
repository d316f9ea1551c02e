"""tap-recras: a Singer tap for Recras customers (klanten) and contact persons."""
