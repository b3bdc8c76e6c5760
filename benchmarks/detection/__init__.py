"""Does latentwatch find anomalies? ADBench (the main protocol), mixed-type tables, screens."""
