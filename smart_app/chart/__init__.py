"""Reading the chart: one FHIR REST client and the batch read behind the compose page."""
