"""The CDS Hooks 2.0 service (https://cds-hooks.hl7.org/2.0/): is this workers' comp case stuck?"""
