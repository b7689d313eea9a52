"""The second-opinion physician's side: the worklist, a referral's page, accept or decline, answer, sign."""
