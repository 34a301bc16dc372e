"""The local cloud's job backends: what moto records but does not run, run on the simulated clock.

moto's SageMaker records jobs but does not run them: every job is ``Completed`` the moment it is created, a tuning job
reports a placeholder ``BestTrainingJob`` and launches no trials, training jobs have no metrics and write no model;
moto's Batch runs array children in Docker. :class:`~.jobs.JobBackend` (the entry point, with
:class:`~.settings.JobDurations` and :class:`~.batch.BatchWork`) makes them behave as they do on AWS, on the
:class:`~.clock.SimClock`:

- :mod:`.clock`: the simulated clock (Wait states, retries and EKS updates run on it too);
- :mod:`.jobs`: the backend, its installation and the routing of each API to its lifecycle (:mod:`.routing`);
- :mod:`.sagemaker_jobs`: processing, training and compilation jobs, planned as timelines (:mod:`.timelines`),
  shown on moto's records (:mod:`.sagemaker_records`), writing their outputs (:mod:`.sagemaker_artifacts`);
  compression and Neo compilation derive their outcome from the base model (:mod:`.sagemaker_compression`);
- :mod:`.sagemaker_tuning`: tuning jobs and their trials, with the search strategies (:mod:`.tuning_strategies`),
  the objective landscape (:mod:`.landscape`) and what the tuning job shows (:mod:`.tuning_status`);
- :mod:`.batch`: AWS Batch array jobs;
- :mod:`.randomness`, :mod:`.storage`, :mod:`.settings`: deterministic draws, S3 access, what every lifecycle reads.

This package imports nothing on its own, so ``mlcp_cli.local.backends.clock`` stays light.
"""
