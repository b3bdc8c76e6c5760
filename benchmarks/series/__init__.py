"""Time series: SKAB and NAB with their published protocols."""
