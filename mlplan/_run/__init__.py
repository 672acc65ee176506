"""`mlplan run`: the plan's matrix of cells, each run in a fresh process, logged by one driver.

- ``matrix``: which cells a plan needs (subject × pair key × conditions), and which are done;
- ``spec``: the contract between the driver and a cell (a JSON spec in, a JSON result out);
- ``cell``: ``python -m mlplan._run.cell SPEC``, the process that runs one cell;
- ``local``: the local backend, ``-j N`` fresh processes on this host;
- ``slurm``: the Slurm backend, cells as submitit job-array tasks (the driver still logs);
- ``driver``: expands, locks, runs, retries and logs through the journal; the only writer;
- ``progress``: what a person (or a CI log) sees while it runs.
"""
