"""What a person reads after a run: the console table, plots and the self-contained HTML report."""
