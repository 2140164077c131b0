-- ml_customer_features is incremental by cutoff: every cutoff in it is either a training
-- cutoff kept from the last full rebuild or today's scoring cutoff, and none lies after the
-- scoring cutoff (a stale daily cutoff or a future one means the pruning post-hook failed).

with

scoring_cutoff as (

    select cutoff_date from {{ ref('ml_cutoffs') }}
    where is_scoring_cutoff

),

feature_cutoffs as (

    select
        cutoff_date,
        min(case when is_training_cutoff then 1 else 0 end) as all_training,
        max(case when is_training_cutoff then 1 else 0 end) as any_training
    from {{ ref('ml_customer_features') }}
    group by cutoff_date

)

select feature_cutoffs.*
from feature_cutoffs
cross join scoring_cutoff
where feature_cutoffs.cutoff_date > scoring_cutoff.cutoff_date
    or feature_cutoffs.all_training <> feature_cutoffs.any_training
    or (
        feature_cutoffs.all_training = 0
        and feature_cutoffs.cutoff_date <> scoring_cutoff.cutoff_date
    )
