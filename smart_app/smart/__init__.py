"""The SMART App Launch 2.2 client: https://hl7.org/fhir/smart-app-launch/app-launch.html."""
