"""Many accounts and regions: the plan, the assumed role per target, and the merged report.

The Step Functions state machine (template.yaml, AuditStateMachine) runs Plan -> Distributed Map(audit
per target) -> Merge. The handlers in functions/plan, functions/audit and functions/merge wire these
modules to AWS:

* :mod:`.plan` turns the run's ``targets`` section into the Map's items (model.Target), a JSON array
  the plan function writes to S3 for the Map's ItemReader;
* :mod:`.assume` gives a boto3 Session acting in a target's account through its audit role;
* :mod:`.results` streams the Map's ResultWriter files back from S3, one child's result at a time;
* :mod:`.merge` (pure) folds the per-target results and reports into one model.ConsolidatedReport,
  which publish.digest renders as ONE Slack message grouped by account.
"""
