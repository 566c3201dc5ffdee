"""Work within limits: a query's time, memory and slot (admission), shared by the store and the server."""
