"""kvqae.serve"""
