"""Demo data and a simulated audience, for seeing the service work without writing a client."""
