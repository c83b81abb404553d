"""Many accounts and regions: the plan, the assumed role per target, and the merged report.

The Step Functions state machine (template.yaml, AuditStateMachine) runs Plan -> Map(audit per
target) -> Merge. The handlers in functions/plan, functions/audit and functions/merge wire these
modules to AWS:

* :mod:`.plan` turns the run's ``targets`` section into Map items (model.Target);
* :mod:`.assume` gives a boto3 Session acting in a target's account through its audit role;
* :mod:`.merge` (pure) folds the per-target reports into one model.ConsolidatedReport, which
  publish.digest renders as ONE Slack message grouped by account.
"""
