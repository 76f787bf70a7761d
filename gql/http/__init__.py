"""The transports: GraphQL over HTTP and over WebSocket, persisted queries, GraphiQL and the SDL, health, avatars, the uvicorn protocol."""
