-- At most one running financing plan per vehicle deal: two would debit the buyer twice a month.
CREATE UNIQUE INDEX financing_plans_one_running_per_vehicle ON financing_plans (dealer_id, vehicle_id)
  WHERE status IN ('creating', 'awaiting_payment_method', 'scheduled', 'active', 'past_due', 'balloon_due');
