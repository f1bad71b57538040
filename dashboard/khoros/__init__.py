"""khoros"""
