"""Running a plan's cells: one fresh process per cell, on this machine or on Slurm."""
